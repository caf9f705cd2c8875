# rackboot appliance image: Debian 12 + Node 20, the same set-up script as `npm start`.
#
#   docker build -t rackboot .
#   docker run --network host --cap-add NET_BIND_SERVICE --cap-add NET_RAW \
#     -v /var/lib/rackboot:/srv/rackboot/data rackboot
#
# --network host: DHCP and TFTP need the real L2 segment (broadcasts, port 67/69/4011).
# NET_BIND_SERVICE: ports below 1024 (67, 69, 80). NET_RAW: binding sockets to an interface
# (SO_BINDTOIFINDEX) when dhcp.interfaces is set.
FROM node:20-bookworm-slim
WORKDIR /srv/rackboot
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY native ./native
COPY boot-assets ./boot-assets
COPY src ./src
COPY ui ./ui
COPY bin ./bin
COPY tsconfig.json tsconfig.build.json biome.json ./
RUN apt-get update && bash scripts/setup.sh start && rm -rf /var/lib/apt/lists/*
VOLUME /srv/rackboot/data
EXPOSE 67/udp 69/udp 4011/udp 8080/tcp
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
