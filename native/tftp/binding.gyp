{
  "targets": [
    {
      "target_name": "rackboot_tftp",
      "sources": ["tftp.c", "transfer.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
