// WASI test program (Go's own wasip1 port, TinyGo-compatible source, stdlib only): files,
// directories, readdir, rename/unlink, seek, args, env, clocks, sleep, random, stderr. Run as
// `files.wasm GUEST_DIR [args...]` with GUEST_DIR preopened and GREETING set; exits with status 3
// after printing "done".
//
// Go's runtime is the hardest common guest: it imports 16 WASI functions (some twice), polls
// with poll_oneoff, yields, and dies if the monotonic clock returns zero or stands still.
package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"time"
)

func check(what string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		os.Exit(1)
	}
}

func main() {
	args := os.Args[1:]
	fmt.Printf("args=%q\n", args)
	fmt.Printf("GREETING=%q\n", os.Getenv("GREETING"))
	root := "/sandbox"
	if len(args) > 0 {
		root = args[0]
	}
	p := func(name string) string { return root + "/" + name }

	check("write", os.WriteFile(p("file.txt"), []byte("hello world\n"), 0o644))
	f, err := os.OpenFile(p("file.txt"), os.O_APPEND|os.O_WRONLY, 0)
	check("open append", err)
	_, err = f.Write([]byte("more\n"))
	check("append", err)
	check("close", f.Close())
	f, err = os.Open(p("file.txt"))
	check("open", err)
	_, err = f.Seek(6, io.SeekStart)
	check("seek", err)
	word := make([]byte, 5)
	_, err = io.ReadFull(f, word)
	check("read", err)
	tell, err := f.Seek(0, io.SeekCurrent)
	check("tell", err)
	end, err := f.Seek(0, io.SeekEnd)
	check("seek end", err)
	check("close", f.Close())
	fmt.Printf("read=%s tell=%d end=%d\n", word, tell, end)
	info, err := os.Stat(p("file.txt"))
	check("stat", err)
	fmt.Printf("size=%d file=%v\n", info.Size(), info.Mode().IsRegular())

	check("mkdir", os.MkdirAll(p("dir/sub"), 0o755))
	check("rename", os.Rename(p("file.txt"), p("dir/moved.txt")))
	entries, err := os.ReadDir(p("dir"))
	check("readdir", err)
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	fmt.Printf("entries=%q\n", names)
	contents, err := os.ReadFile(p("dir/moved.txt"))
	check("read back", err)
	fmt.Printf("contents=%q\n", contents)
	err = os.Remove(p("dir"))
	fmt.Printf("remove non-empty dir fails: %v\n", err != nil)
	check("unlink", os.Remove(p("dir/moved.txt")))
	check("rmdir", os.RemoveAll(p("dir")))
	_, err = os.Stat(p("dir"))
	fmt.Printf("exists after remove: %v\n", !errors.Is(err, fs.ErrNotExist))
	_, err = os.ReadFile(p("../outside"))
	fmt.Printf("escape fails: %v\n", err != nil)

	start := time.Now()
	time.Sleep(10 * time.Millisecond)
	fmt.Printf("slept>=10ms: %v\n", time.Since(start) >= 10*time.Millisecond)
	fmt.Printf("realtime after 2020: %v\n", time.Now().Year() > 2020)
	a, b := make([]byte, 16), make([]byte, 16)
	_, err = rand.Read(a)
	check("random", err)
	_, err = rand.Read(b)
	check("random", err)
	fmt.Printf("random differs: %v\n", string(a) != string(b))
	fmt.Fprintln(os.Stderr, "to stderr")
	fmt.Println("done")
	os.Exit(3)
}
