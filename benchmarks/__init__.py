"""fincast's benchmarks (`make bench`): measured and reported, never asserted."""
