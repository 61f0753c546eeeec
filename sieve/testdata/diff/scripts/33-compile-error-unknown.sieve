require "fileinto"; frobnicate;
