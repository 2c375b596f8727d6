#include <linux/module.h>
#include <linux/dma-buf.h>

static struct dma_buf *export_one(const struct dma_buf_export_info *info)
{
	return dma_buf_export(info);
}

static int __init ns_init(void)
{
	return export_one(NULL) ? 0 : -EINVAL;
}

module_init(ns_init);
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
MODULE_DESCRIPTION("uses DMA_BUF exports importing the namespace");
