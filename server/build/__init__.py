"""`m99kg build`: turn the official sources and the hand-written Turtle into generated Turtle."""
