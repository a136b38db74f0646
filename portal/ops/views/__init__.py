"""The portal's own pages, one module per subject; ``page`` holds what every page shares."""
