"""What the benchmarks share: the machine, process-tree memory, a step's environment and
BENCHMARKS.md's marked sections. Imports no benchmark."""
