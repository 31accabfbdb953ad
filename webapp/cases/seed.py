"""Demo cases for the Xiping data: filled in by the case-lifecycle core."""
