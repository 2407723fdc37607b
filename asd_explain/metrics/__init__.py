"""Metrics: the official AVA average precision, deletion/insertion, pointing game."""
