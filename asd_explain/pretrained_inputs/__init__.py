"""Inputs as the authors of the published AVA-trained models (Light-ASD, LR-ASD) prepare them."""
