"""Azure Lighthouse: the delegation component and the same delegation as a self-deploy ARM template."""
