"""Model families, one folder each (the Hub's own file names)."""
