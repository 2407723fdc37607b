"""Video file -> face tracks -> crops -> scores -> explanations (``asd-explain explain VIDEO``)."""
