{
  "targets": [
    {
      "target_name": "rackboot_tftp",
      "sources": ["tftp.c", "loop.c", "transfer.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
