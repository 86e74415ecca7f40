FROM busybox${HTTP_PROXY:+-proxied}
RUN echo $HTTP_PROXY
