ARG TOOL=tool:1.2
FROM alpine
ARG TOOL
COPY --from=${TOOL} /a /b
