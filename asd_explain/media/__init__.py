"""Reading source videos, for preparing a track store and for explaining a video alike.

``decode``: which files are videos, stream facts, nearest frames, the audio (PyAV) and a track's audio
slice; ``frames``: decoded RGB frames in time order (PyAV or decord); ``crops``: normalised boxes ->
face and body crops.
"""
