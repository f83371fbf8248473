"""Images for hosts that cannot pull: PostgreSQL from Debian's packages (`invoke build-images`)."""

from harness.images.build import REPOSITORY, SUITES, Built, build_images, image_name

__all__ = ["REPOSITORY", "SUITES", "Built", "build_images", "image_name"]
