"""Text encoders for the text-to-image families: a caption in, a fixed-size embedding out."""
