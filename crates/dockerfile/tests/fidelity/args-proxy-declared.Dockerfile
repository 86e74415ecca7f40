ARG HTTP_PROXY
FROM busybox${HTTP_PROXY:+-proxied}
