"""Pull-request review helpers: which stacks a change can affect, and the plan cache they reuse."""
