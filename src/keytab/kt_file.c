/* Keytab files: whole-file read and atomic replace. */
#include "base/wipe.h"
#include "keytab/kt_internal.h"
#include "base/file.h"

#include <errno.h>
#include <stdlib.h>

lethe_status
kt_load(const char *path, kt_keytab **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	lethe_status rc;

	*out = NULL;
	rc = lethe_file_read(path, KT_MAX_FILE_SIZE, &buf, &len);
	if (rc == LETHE_ERR_IO && errno == ENOENT)
		return LETHE_ERR_NOT_FOUND;
	GUARD(rc);
	rc = kt_parse(buf, len, out);
	lethe_wipe(buf, len);
	free(buf);
	return rc;
}

lethe_status
kt_save(const kt_keytab *kt, const char *path)
{
	return kt_save_owned(kt, path, KT_OWNER_KEEP, KT_GROUP_KEEP);
}

lethe_status
kt_save_owned(const kt_keytab *kt, const char *path, uid_t uid, gid_t gid)
{
	uint8_t *image = NULL;
	size_t image_len = 0;
	lethe_status rc;

	ENSURE(kt != NULL && path != NULL, LETHE_ERR_INVALID_ARG);
	GUARD(kt_serialize(kt, &image, &image_len));
	rc = lethe_file_write_secret_owned(path, image, image_len, true, uid, gid);
	kt_image_free(image, image_len);
	return rc;
}
