"""The thin command-line layer: parse, call the core, render, return an exit code."""
