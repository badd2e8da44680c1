"""Infrastructure tests: the Pulumi program run offline under mocks, and its building blocks."""
