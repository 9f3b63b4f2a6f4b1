package hostcheck

import "fmt"

// blockedDetail words a directory that container root cannot search
// (how: bundle.Unsearchable's "mode ..., owner ...").
func blockedDetail(dir, how string, uid uint32) string {
	return fmt.Sprintf("%s (%s) is not searchable by container root (uid %d)", dir, how, uid)
}
