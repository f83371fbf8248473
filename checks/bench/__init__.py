"""The benchmark: a generated long history, timed against the floor and the peer."""
