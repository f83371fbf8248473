"""The rehearse stage's machinery: production row counts (volumes), the scaled-down sizes a
throwaway server can hold, timing one revision on tables filled to them, and the estimate
at full size."""
