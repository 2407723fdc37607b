"""Dataset preparation for asd_explain: AVA-ActiveSpeaker, WASD and the synthetic corpus (``asd-prep``)."""
