package artifact

import (
	"bytes"
	"fmt"
	"strings"
)

// LineDiff renders a unified diff (3 lines of context) of two texts, for
// `polc build --check` to show what is stale. At most maxLines lines of
// hunks are printed; the rest is summarized. Equal texts give "".
func LineDiff(oldName, newName string, old, new []byte, maxLines int) string {
	if bytes.Equal(old, new) {
		return ""
	}
	a, b := splitLines(old), splitLines(new)
	ops := myers(a, b)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", oldName, newName)
	printed, omitted := 0, 0
	const ctx = 3
	for i := 0; i < len(ops); {
		// Find the next change.
		for i < len(ops) && ops[i].kind == ' ' {
			i++
		}
		if i == len(ops) {
			break
		}
		start := max(i-ctx, 0)
		end := i
		// Extend the hunk while changes are within 2*ctx of each other.
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j
			} else if j-end > 2*ctx {
				break
			}
		}
		stop := min(end+ctx+1, len(ops))
		oldStart, newStart := ops[start].oldLine, ops[start].newLine
		oldN, newN := 0, 0
		for _, op := range ops[start:stop] {
			if op.kind != '+' {
				oldN++
			}
			if op.kind != '-' {
				newN++
			}
		}
		if printed >= maxLines {
			for _, op := range ops[start:stop] {
				if op.kind != ' ' {
					omitted++
				}
			}
		} else {
			fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", oldStart+1, oldN, newStart+1, newN)
			for _, op := range ops[start:stop] {
				out.WriteByte(op.kind)
				out.WriteString(op.text)
				out.WriteByte('\n')
				printed++
			}
		}
		i = stop
	}
	if omitted > 0 {
		fmt.Fprintf(&out, "... and %d more changed lines\n", omitted)
	}
	return out.String()
}

type lineOp struct {
	kind             byte // ' ', '-', '+'
	text             string
	oldLine, newLine int // 0-based positions before this op
}

func splitLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// myers computes a shortest edit script (Myers' O(ND) algorithm) after
// trimming the common prefix and suffix, which is most of a stale artifact.
func myers(a, b []string) []lineOp {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	n, m := len(ma), len(mb)
	maxD := n + m
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	var trace [][]int
	found := false
	for d := 0; d <= maxD && !found; d++ {
		snap := make([]int, len(v))
		copy(snap, v)
		trace = append(trace, snap)
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && ma[x] == mb[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				found = true
				break
			}
		}
	}
	// Backtrack through the saved frontiers.
	var rev []lineOp
	x, y := n, m
	for d := len(trace) - 1; d > 0; d-- {
		vd := trace[d]
		k := x - y
		var prevK int
		if k == -d || (k != d && vd[off+k-1] < vd[off+k+1]) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevX := vd[off+prevK]
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			x--
			y--
			rev = append(rev, lineOp{kind: ' ', text: ma[x]})
		}
		if x == prevX {
			y--
			rev = append(rev, lineOp{kind: '+', text: mb[y]})
		} else {
			x--
			rev = append(rev, lineOp{kind: '-', text: ma[x]})
		}
	}
	for x > 0 && y > 0 {
		x--
		y--
		rev = append(rev, lineOp{kind: ' ', text: ma[x]})
	}
	ops := make([]lineOp, 0, len(a)+len(b))
	for i := 0; i < pre; i++ {
		ops = append(ops, lineOp{kind: ' ', text: a[i]})
	}
	for i := len(rev) - 1; i >= 0; i-- {
		ops = append(ops, rev[i])
	}
	for i := len(a) - suf; i < len(a); i++ {
		ops = append(ops, lineOp{kind: ' ', text: a[i]})
	}
	// Number the lines.
	ol, nl := 0, 0
	for i := range ops {
		ops[i].oldLine, ops[i].newLine = ol, nl
		if ops[i].kind != '+' {
			ol++
		}
		if ops[i].kind != '-' {
			nl++
		}
	}
	return ops
}
