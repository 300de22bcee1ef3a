"""Shared checks for Logic Apps workflow definitions (WDL); the definitions themselves live with their concern."""
