"""Pure lending rules: no Google imports, no I/O, no clock reads (time is passed in)."""
