"""The strings the program, the offline plan, the guardrails and the reports agree on, defined once.

- Pulumi type tokens of the resources the project creates: the token each provider module passes to
  `CustomResource.__init__` (checked against pulumi_azure_native 3.29 and pulumi_azuread 6.11.1, the
  pinned versions: e.g. `pulumi_azure_native/monitor/diagnostic_setting.py` registers
  `azure-native:monitor:DiagnosticSetting`).
- SECRET: how a secret value is written wherever the project shows one (plan manifest, Markdown, diff,
  drift report): the value itself never is (docs/manifest.md). Pulumi writes secrets the same way
  (`pulumi preview --json`; the Python SDK's automation API: `pulumi/automation/_config.py`,
  `_SECRET_SENTINEL = "[secret]"`).
"""

SECRET = "[secret]"

STACK = "pulumi:pulumi:Stack"
PROVIDER_PREFIX = "pulumi:providers:"

# azure-native
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
SUBSCRIPTION_DIAGNOSTIC_SETTING = "azure-native:monitor:SubscriptionDiagnosticSetting"
DATA_COLLECTION_RULE = "azure-native:monitor:DataCollectionRule"
REGISTRATION_DEFINITION = "azure-native:managedservices:RegistrationDefinition"
REGISTRATION_ASSIGNMENT = "azure-native:managedservices:RegistrationAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
TABLE = "azure-native:operationalinsights:Table"
WORKSPACE = "azure-native:operationalinsights:Workspace"
WORKFLOW = "azure-native:logic:Workflow"
SQL_AUDIT_POLICY = "azure-native:sql:ServerBlobAuditingPolicy"
GENERIC_RESOURCE = "azure-native:resources:Resource"  # azure-native's generic ARM resource
MANAGED_IDENTITY_FEDERATED_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"

# azuread
APPLICATION = "azuread:index/application:Application"
SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
APPLICATION_PASSWORD = "azuread:index/applicationPassword:ApplicationPassword"
APP_ROLE_ASSIGNMENT = "azuread:index/appRoleAssignment:AppRoleAssignment"
APP_FEDERATED_CREDENTIAL = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
APP_FLEXIBLE_FEDERATED_CREDENTIAL = (
    "azuread:index/applicationFlexibleFederatedIdentityCredential:ApplicationFlexibleFederatedIdentityCredential"
)
