"""The team's nightly pipeline."""
