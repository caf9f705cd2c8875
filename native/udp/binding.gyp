{
  "targets": [
    {
      "target_name": "rackboot_udp",
      "sources": ["udp.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
