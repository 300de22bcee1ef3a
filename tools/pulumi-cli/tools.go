//go:build tools

// Package tools pins the Pulumi CLI that scripts/pulumi-cli builds (go.mod says why this module exists).
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
	// The CLI reports the version that scripts/pulumi-cli sets here with -ldflags -X.
	_ "github.com/pulumi/pulumi/sdk/v3/go/common/version"
)
