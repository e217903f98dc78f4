# Files from the host (`--dir integration/data/files::/data`): listing, reading, and the errors
# for what is not there.
ls /
ls /data
cat /data/motd.txt
ls /data/notes
cat /data/notes/todo.txt
cat /data/missing.txt
ls /data/missing
cat /data/notes
exit 0
