"""Video action recognition pipeline: the library the DVC stages share."""
