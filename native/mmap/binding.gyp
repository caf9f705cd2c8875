{
  "targets": [
    {
      "target_name": "rackboot_mmap",
      "sources": ["mmap.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
