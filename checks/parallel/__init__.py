"""Work spread over the machine's cores: the round trip's segments in forked workers."""
