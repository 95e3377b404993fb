"""The sensor downsampler: event-time windows over raw readings, one aggregate per machine and window."""
