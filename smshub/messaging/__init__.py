"""Messaging: SMS encoding, segmentation and (later) sending."""
