"""Logic Apps facts the workflow definitions share, with their source.

The `$schema` of a Consumption workflow definition (Workflow Definition Language 2016-06-01):
MicrosoftDocs/azure-docs articles/logic-apps/logic-apps-workflow-definition-language.md, "Workflow
definition" ("$schema ... https://schema.management.azure.com/providers/Microsoft.Logic/schemas/
2016-06-01/workflowdefinition.json#"). The tests check every definition against the rest of that
reference with testing/logic_apps_check.py.
"""

SCHEMA_URI = "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#"
