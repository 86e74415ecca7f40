FROM busybox AS stage0
COPY --from=stage0 f1 /sub/
