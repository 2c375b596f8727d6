#include <linux/module.h>
#include <linux/dma-buf.h>

static int __init dmabuf_demo_init(void)
{
	struct dma_buf *buf = dma_buf_get(0);

	if (IS_ERR(buf))
		return PTR_ERR(buf);
	dma_buf_put(buf);
	return 0;
}

module_init(dmabuf_demo_init);
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
MODULE_DESCRIPTION("looks up a dma-buf by file descriptor");
