package csc

import "github.com/roamsign/roamsign"

// oauthRoutes are the OAuth 2.0 authorization server's routes of a
// version (none yet).
func oauthRoutes(version) []route { return nil }

// serviceToken is a service access token (client credentials grant).
type serviceToken struct {
	host   roamsign.HostID
	client string
}
