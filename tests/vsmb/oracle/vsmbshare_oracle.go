// vsmbshare_oracle writes, with Go's own encoding/gob, the share records
// layerhost's vsmb backend must produce byte for byte: hcsshim's
// VSMBShare.GobEncode (at d816cbe89) sends, on one fresh Encoder,
// uint32 serial version 1, HostPath, name, allowedFiles ([]string),
// guestPath and the options (hcsschema.VirtualSmbShareOptions). This
// program mirrors that field order with its own types.
//
//	go run vsmbshare_oracle.go OUTDIR
//
// writes OUTDIR/share_<case>.gob for every case below; the cases are the
// ones tests/vsmb/test_vsmb.c encodes through the backend's record codec.
//
//	go run vsmbshare_oracle.go -check STATE_BLOB...
//
// reads vsmb state blobs the backend wrote (serial version 2: share
// counter, next handle, shares, each a record and its handles), decodes
// every record as hcsshim's GobDecode does and checks that Go encodes the
// decoded values back to the very same bytes.
package main

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// VirtualSmbShareOptions: hcsschema's field names and order (the gob type
// definition carries both, and the type's name).
type VirtualSmbShareOptions struct {
	ReadOnly             bool
	ShareRead            bool
	CacheIo              bool
	NoOplocks            bool
	TakeBackupPrivilege  bool
	UseShareRootIdentity bool
	NoDirectmap          bool
	NoLocks              bool
	NoDirnotify          bool
	VmSharedMemory       bool
	RestrictFileAccess   bool
	ForceLevelIIOplocks  bool
	ReparseBaseLayer     bool
	PseudoOplocks        bool
	NonCacheIo           bool
	PseudoDirnotify      bool
	SingleFileMapping    bool
}

type share struct {
	hostPath string
	name     string
	files    []string
	options  VirtualSmbShareOptions
}

const guestPrefix = `\\?\VMSMB\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\`

// record encodes one share as the six values, in order, on one Encoder.
func record(s share) ([]byte, error) {
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	for _, v := range []interface{}{uint32(1), s.hostPath, s.name, s.files,
		guestPrefix + s.name, s.options} {
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// decodeRecord reads a record in GobDecode's order, all of it.
func decodeRecord(data []byte) (share, error) {
	var (
		s       share
		version uint32
		guest   string
	)
	dec := gob.NewDecoder(bytes.NewReader(data))
	for _, v := range []interface{}{&version, &s.hostPath, &s.name, &s.files, &guest,
		&s.options} {
		if err := dec.Decode(v); err != nil {
			return s, err
		}
	}
	if version != 1 {
		return s, fmt.Errorf("serial version %d", version)
	}
	if guest != guestPrefix+s.name {
		return s, fmt.Errorf("guest path %q for share %s", guest, s.name)
	}
	var extra interface{}
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return s, fmt.Errorf("bytes after the record (%v)", err)
	}
	return s, nil
}

// check decodes one state blob's records and re-encodes each.
func check(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	dec := gob.NewDecoder(bytes.NewReader(data))
	var counter, next, n uint64
	for _, v := range []*uint64{&counter, &next, &n} {
		if err := dec.Decode(v); err != nil {
			return 0, err
		}
	}
	for i := uint64(0); i < n; i++ {
		var rec []byte
		if err := dec.Decode(&rec); err != nil {
			return int(i), err
		}
		s, err := decodeRecord(rec)
		if err != nil {
			return int(i), fmt.Errorf("record %d: %w", i, err)
		}
		again, err := record(s)
		if err != nil {
			return int(i), err
		}
		if !bytes.Equal(again, rec) {
			return int(i), fmt.Errorf("record %d (%s): Go writes other bytes", i, s.name)
		}
		var handles uint64
		if err := dec.Decode(&handles); err != nil {
			return int(i), err
		}
		for h := uint64(0); h < 2*handles; h++ {
			var x uint64
			if err := dec.Decode(&x); err != nil {
				return int(i), err
			}
		}
	}
	return int(n), nil
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "-check" {
		for _, path := range os.Args[2:] {
			n, err := check(path)
			if err != nil {
				fmt.Fprintf(os.Stderr, "FAIL: %s: %v\n", path, err)
				os.Exit(1)
			}
			fmt.Printf("%s: %d records read by Go and written back byte for byte\n",
				filepath.Base(path), n)
		}
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: vsmbshare_oracle OUTDIR | -check STATE_BLOB...")
		os.Exit(2)
	}
	long := "/layers/" + string(bytes.Repeat([]byte("x"), 150))
	cases := []struct {
		name string
		s    share
	}{
		// HCS-FACTS.md's two shares.
		{"facts_dir", share{"/layers/base", "s1", nil, VirtualSmbShareOptions{
			ReadOnly: true, ShareRead: true, CacheIo: true, TakeBackupPrivilege: true,
			PseudoOplocks: true}}},
		{"facts_files", share{"/layers/f", "s2", []string{"a.txt", "b.txt"},
			VirtualSmbShareOptions{ReadOnly: true, SingleFileMapping: true}}},
		// What the backend writes: a layer, a layer with no direct map, a
		// template's writable share, a file share, no options at all, and
		// every option with a path long enough for multi-byte lengths.
		{"layer", share{"/layers/l1", "s1", nil, VirtualSmbShareOptions{
			ReadOnly: true, ShareRead: true, CacheIo: true, TakeBackupPrivilege: true,
			PseudoOplocks: true}}},
		{"layer_nodirectmap", share{"/layers/l2", "sa", nil, VirtualSmbShareOptions{
			ReadOnly: true, ShareRead: true, CacheIo: true, TakeBackupPrivilege: true,
			NoDirectmap: true, PseudoOplocks: true}}},
		{"template_rw", share{"/layers/rw", "s3", nil, VirtualSmbShareOptions{
			NoOplocks: true, NoDirectmap: true, NoLocks: true, PseudoDirnotify: true}}},
		{"file_share", share{"/data/files", "s4", []string{"/data/files/a.txt",
			"/data/files/b.txt"}, VirtualSmbShareOptions{ReadOnly: true, ShareRead: true,
			CacheIo: true, RestrictFileAccess: true, PseudoOplocks: true,
			SingleFileMapping: true}}},
		{"no_options", share{"/data/rw", "s5", nil, VirtualSmbShareOptions{}}},
		{"all_options", share{long, "s1f", []string{long + "/f"}, VirtualSmbShareOptions{
			true, true, true, true, true, true, true, true, true, true, true, true, true,
			true, true, true, true}}},
	}
	for _, c := range cases {
		data, err := record(c.s)
		if err == nil {
			err = os.WriteFile(filepath.Join(os.Args[1], "share_"+c.name+".gob"), data, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, c.name+":", err)
			os.Exit(1)
		}
	}
}
