package manifest

import (
	"bytes"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"
)

// index makes positioning a finding cost the same whatever the file holds:
// without it, Line scans the source from the start for every finding and
// lookup compares every key of a mapping, which turns a file with a
// hundred thousand findings into minutes of work (issue 21).
type index struct {
	linesOnce sync.Once
	starts    []int // byte offset of each line's first byte; len = number of lines

	keysMu sync.Mutex
	keys   map[*yaml.Node]map[string]int // large mapping → key → index of its first occurrence in Content

	// parent is the container of the last value looked up: findings come
	// in runs over one list or mapping ("/spec/oauth/scopes/0", "/1", …),
	// and the walk down to it is done once per run.
	parent atomic.Pointer[container]
}

// container is a mapping or sequence reached by a pointer, and the key
// that names it.
type container struct {
	ptr       string
	node, key *yaml.Node
}

// indexedKeys is the size from which a mapping gets a key table: below it
// a linear scan is cheaper than a map.
const indexedKeys = 16

// lineStarts returns the byte offset at which each line of src starts.
func (d *Document) lineStarts() []int {
	d.idx.linesOnce.Do(func() {
		starts := make([]int, 1, 1+bytes.Count(d.Source, []byte("\n")))
		for i, src := 0, d.Source; ; {
			j := bytes.IndexByte(src[i:], '\n')
			if j < 0 {
				break
			}
			i += j + 1
			starts = append(starts, i)
		}
		d.idx.starts = starts
	})
	return d.idx.starts
}

// keyIndex returns the position in n.Content of the key that restores to
// tok, or -1. The first of duplicate keys wins, as in a linear scan.
func (d *Document) keyIndex(n *yaml.Node, tok string) int {
	if len(n.Content) < 2*indexedKeys {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if d.prot.restore(n.Content[i].Value) == tok {
				return i
			}
		}
		return -1
	}
	d.idx.keysMu.Lock()
	defer d.idx.keysMu.Unlock()
	m, ok := d.idx.keys[n]
	if !ok {
		m = make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := d.prot.restore(n.Content[i].Value)
			if _, dup := m[k]; !dup {
				m[k] = i
			}
		}
		if d.idx.keys == nil {
			d.idx.keys = map[*yaml.Node]map[string]int{}
		}
		d.idx.keys[n] = m
	}
	if i, ok := m[tok]; ok {
		return i
	}
	return -1
}
