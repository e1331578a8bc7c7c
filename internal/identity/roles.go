// Package identity owns who may do what: users, their memberships in
// organisations with one role each, sessions, the second factor, password
// resets, invitations, API tokens, rate limits and the permission matrix.
package identity

import "github.com/evident-isms/evident/internal/apperr"

// Role is a member's role in one organisation.
type Role string

const (
	Admin   Role = "admin"   // everything, including members, settings and tokens
	Manager Role = "manager" // edits and publishes compliance content
	Member  Role = "member"  // what an employee needs: published policies, own tasks, non-confidential content
	Guest   Role = "guest"   // reads only (an auditor, say)
)

// Roles lists the roles, highest first.
var Roles = []Role{Admin, Manager, Member, Guest}

var rank = map[Role]int{Guest: 1, Member: 2, Manager: 3, Admin: 4}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if rank[r] == 0 {
		return "", apperr.Field("role", "role %q is not one of admin, manager, member, guest", s)
	}
	return r, nil
}

// AtLeast tells whether r is as high as other.
func (r Role) AtLeast(other Role) bool { return rank[r] >= rank[other] && rank[r] > 0 }

// Lower returns the lower of two roles: what a token may do is the lower of
// its own role and its owner's current one.
func Lower(a, b Role) Role {
	if rank[a] <= rank[b] {
		return a
	}
	return b
}

// Permission names what a route or an action requires.
type Permission string

// Instance-level permissions: they need no organisation.
const (
	Public  Permission = "public"  // anyone
	Account Permission = "account" // any signed-in user, for their own account
	Metrics Permission = "metrics" // the operator's metrics token
)

// Organisation permissions: granted by the caller's role in the organisation
// the request is about.
const (
	OrgRead          Permission = "org.read"          // see the organisation's console
	ContentRead      Permission = "content.read"      // read non-confidential content
	ContentEdit      Permission = "content.edit"      // create and edit compliance content
	ContentPublish   Permission = "content.publish"   // publish to the trust center
	ConfidentialRead Permission = "confidential.read" // incidents, risks, restricted evidence (assignees too, per item)
	MembersRead      Permission = "members.read"      // list members and invitations
	MembersManage    Permission = "members.manage"    // invite, change roles, remove
	TokensOwn        Permission = "tokens.own"        // create and revoke one's own API tokens
	TokensManage     Permission = "tokens.manage"     // see and revoke every token of the organisation
	SettingsManage   Permission = "settings.manage"   // organisation settings, such as requiring 2FA
	AuditRead        Permission = "audit.read"        // read the audit log
	EvidencePush     Permission = "evidence.push"     // push check results and files from CI jobs and scripts
)

// Matrix is the permission matrix: the one place that says which role may
// do what. docs/permissions.md shows it as a table (TestPermissionDoc keeps
// them equal).
var Matrix = map[Permission][]Role{
	OrgRead:          {Admin, Manager, Member, Guest},
	ContentRead:      {Admin, Manager, Member, Guest},
	ContentEdit:      {Admin, Manager},
	ContentPublish:   {Admin, Manager},
	ConfidentialRead: {Admin, Manager},
	MembersRead:      {Admin, Manager},
	MembersManage:    {Admin},
	TokensOwn:        {Admin, Manager, Member, Guest},
	TokensManage:     {Admin},
	SettingsManage:   {Admin},
	AuditRead:        {Admin},
	EvidencePush:     {Admin, Manager},
}

// OrgPermissions lists the organisation permissions in a stable order.
var OrgPermissions = []Permission{OrgRead, ContentRead, ContentEdit, ContentPublish, ConfidentialRead,
	MembersRead, MembersManage, TokensOwn, TokensManage, SettingsManage, AuditRead, EvidencePush}

// Allowed tells whether role grants p.
func Allowed(role Role, p Permission) bool {
	for _, r := range Matrix[p] {
		if r == role {
			return true
		}
	}
	return false
}

// IsOrgPermission tells whether p is granted by a role in an organisation.
func IsOrgPermission(p Permission) bool {
	_, ok := Matrix[p]
	return ok
}
