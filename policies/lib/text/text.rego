# METADATA
# title: Text helpers for messages
# description: |
#   Words for people, never Rego syntax: a set or array of strings is shown as
#   `US`, `US and IE` or `DE, IE and US` (sorted), and an empty one as `none`.
#   Written without sort (the embedded engine sorts numbers wrongly) and without
#   relying on the order a set is iterated in, which engines do not promise.
package lib.text

import rego.v1

# The strings of set or array s, once each, in ascending order.
sorted_strings(s) := [x |
	items := {y | some y in s}
	some i in numbers.range(0, count(items) - 1)
	some x in items
	count({y | some y in items; y < x}) == i
]

# Set or array s as "a", "a and b" or "a, b and c" (sorted); "none" when empty.
listing(s) := "none" if {
	count(s) == 0
} else := text if {
	items := sorted_strings(s)
	count(items) == 1
	text := items[0]
} else := text if {
	items := sorted_strings(s)
	n := count(items)

	# trim(_, "") changes nothing, but the embedded engine keeps the quotes of a concat
	# result when sprintf's %s inserts it; a trimmed string comes out plain.
	text := trim(concat(" and ", [concat(", ", array.slice(items, 0, n - 1)), items[n - 1]]), "")
}
