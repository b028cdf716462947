"""The review learns: which leads have a known result, which rules could describe them, and which few of those a
sparse model keeps. Each module is small and plain; `propose` turns the model into suggestions with evidence."""
