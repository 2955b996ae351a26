# METADATA
# title: Sensitive group without subject jurisdictions
# description: >-
#   A group that holds sensitive data must say whose users' data it holds (subject_jurisdictions);
#   otherwise nobody can tell where its owner and members may work from, and the location rules
#   cannot check it.
# custom:
#   severity: medium
#   remediation: >-
#     Add subject_jurisdictions to the group, listing the jurisdictions whose users' data it holds
#     (GLOBAL when it holds data of users everywhere).
package access.subject_jurisdiction_missing

import rego.v1

import data.lib.groups
import data.lib.text

deny contains msg if {
	groups.holds_sensitive
	not groups.declares_jurisdictions
	msg := concat(" ", [
		sprintf("group %s holds sensitive data (%s)", [input.group.id, text.sensitive_classes_shown]),
		"but declares no subject_jurisdictions, so the locations of its owner and members cannot be checked",
	])
}
